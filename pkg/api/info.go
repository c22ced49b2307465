package api

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/platform"
)

// Build identifies this gateway build; main may set it.
var Build, BuildNo = "2026-11-25T00:00:00Z", "kwhisk-dev"

func (s *Server) ping(c echo.Context) error { return c.String(http.StatusOK, "pong") }

func (s *Server) apiInfo(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{
		"description":      "OpenWhisk API",
		"api_version":      "1.0.0",
		"api_version_path": "v1",
		"build":            Build,
		"buildno":          BuildNo,
		"swagger_paths":    map[string]string{"ui": "/docs", "api-docs": "/api-docs"},
	})
}

func (s *Server) deploymentInfo(c echo.Context) error {
	b := s.Actions.Bounds()
	t := s.Throttles
	const mb = 1024 * 1024
	limits := map[string]int{
		"actions_per_minute":          deref(t.InvocationsPerMinute),
		"triggers_per_minute":         deref(t.FiresPerMinute),
		"concurrent_actions":          deref(t.ConcurrentInvocations),
		"sequence_length":             50,
		"min_action_duration":         b.MinTimeout,
		"max_action_duration":         b.MaxTimeout,
		"min_action_memory":           b.MinMemory * mb,
		"max_action_memory":           b.MaxMemory * mb,
		"min_action_logs":             b.MinLogs * mb,
		"max_action_logs":             b.MaxLogs * mb,
		"default_min_action_duration": b.MinTimeout,
		"default_max_action_duration": b.MaxTimeout,
		"default_min_action_memory":   b.MinMemory * mb,
		"default_max_action_memory":   b.MaxMemory * mb,
		"default_min_action_logs":     b.MinLogs * mb,
		"default_max_action_logs":     b.MaxLogs * mb,
		"min_action_concurrency":      b.MinConcurrency,
		"max_action_concurrency":      b.MaxConcurrency,
	}
	runtimes := map[string][]platform.Runtime{}
	for _, rt := range s.Runtimes.Runtimes() {
		runtimes[rt.Family] = append(runtimes[rt.Family], rt)
	}
	for _, list := range runtimes {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Kind < list[j].Kind })
	}
	return c.JSON(http.StatusOK, map[string]any{
		"description": "OpenWhisk",
		"support": map[string]string{
			"github": "https://github.com/kwhisk/kwhisk/issues",
			"slack":  "",
		},
		"api_paths": []string{"/api/v1"},
		"limits":    limits,
		"runtimes":  runtimes,
	})
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
