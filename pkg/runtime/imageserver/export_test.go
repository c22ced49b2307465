package imageserver

import "time"

// SetKeyIntervals sets how soon after a fetch of its run keys s may fetch
// them again on a failed check, and how old they may grow before a
// background fetch; call it before Serve.
func SetKeyIntervals(s *Server, retryAfter, maxAge time.Duration) {
	s.keys.retryAfter, s.keys.maxAge = retryAfter, maxAge
}
