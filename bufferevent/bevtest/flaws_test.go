package bevtest_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bufev/bufev/bufferevent"
	"github.com/bufev/bufev/bufferevent/bevtest"
	"github.com/bufev/bufev/bufferevent/bevtest/pipe"
	"github.com/bufev/bufev/eventbase"
)

// TestSuiteDetectsFlaws runs selected checks of the suite, in a child
// process, on pipes with deliberate defects and requires them to fail: the
// suite's checks can fail.
func TestSuiteDetectsFlaws(t *testing.T) {
	if f := os.Getenv("BEVTEST_FLAW"); f != "" {
		flaw, _ := strconv.Atoi(f)
		bevtest.Run(t, func(base *eventbase.Base, opts bufferevent.Options) (a, b *bufferevent.BufferEvent, caps bevtest.Caps, err error) {
			a, b, err = pipe.NewFlawed(base, opts, pipe.Flaw(flaw))
			return a, b, bevtest.Caps{NoFD: true, Timeout: 2 * time.Second}, err
		})
		return
	}
	cases := []struct {
		flaw  pipe.Flaw
		check string // subtest to run, must fail
	}{
		{pipe.IgnoreHighWatermark, "ReadHighBoundsInput/Plain"},
		{pipe.IgnoreHighWatermark, "Watermarks/Deferred"},
		{pipe.DropBytes, "BasicIO/Plain"},
		{pipe.DropBytes, "PingPong/ThreadSafe"},
		{pipe.NoEOF, "EOFOnClose/Plain"},
		{pipe.NoEOF, "FlushModes/Plain"},
	}
	for _, c := range cases {
		t.Run(c.check, func(t *testing.T) {
			parts := strings.Split(c.check, "/")
			pat := "^TestSuiteDetectsFlaws$/^" + parts[0] + "$/^" + parts[1] + "$"
			cmd := exec.Command(os.Args[0], "-test.run="+pat, "-test.count=1")
			cmd.Env = append(os.Environ(), "BEVTEST_FLAW="+strconv.Itoa(int(c.flaw)))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("flaw %d: %s passed; the suite must catch it\n%s", c.flaw, c.check, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestSuiteDetectsFlaws/"+c.check) {
				t.Fatalf("flaw %d: %s did not fail as expected:\n%s", c.flaw, c.check, out)
			}
		})
	}
}
