//go:build windows

package async

import "testing"

func TestZZLeakProbe(t *testing.T) {
	ports.Lock()
	defer ports.Unlock()
	for b, bp := range ports.m {
		t.Errorf("port left for base %p: refs %d, in flight %d", b, bp.refs, bp.p.InFlight())
	}
}
