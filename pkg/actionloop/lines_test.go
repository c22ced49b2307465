package actionloop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Without sentinels an activation's logs end where its result came: every
// line it wrote, through the language's streams or straight to fd 1 and 2,
// a last one without its newline and a burst larger than a pipe holds
// included, and none of the next run's. Requests large and small alternate.
func TestLogsEndAtTheResult(t *testing.T) {
	codes := map[string]string{
		"nodejs": `const fs = require('fs');
function main(p) {
  console.log('run ' + p.i);
  fs.writeSync(1, 'raw out ' + p.i + '\n');
  fs.writeSync(2, 'raw err ' + p.i + '\n');
  if (p.big) console.log('x'.repeat(300000));
  process.stderr.write('no newline ' + p.i);
  return { i: p.i };
}`,
		"python": `import os, sys
def main(p):
    print('run %d' % p['i'])
    os.write(1, b'raw out %d\n' % p['i'])
    os.write(2, b'raw err %d\n' % p['i'])
    if p.get('big'):
        print('x' * 300000)
    sys.stderr.write('no newline %d' % p['i'])
    return {'i': p['i']}
`,
	}
	for family, code := range codes {
		t.Run(family, func(t *testing.T) {
			requireInterpreter(t, map[string]string{"nodejs": "node", "python": "python3"}[family])
			ctx := context.Background()
			work := t.TempDir()
			inst, failed, err := actionloop.Start(ctx, launcher(family, work), &actionloop.Config{
				Dir: filepath.Join(work, "code"), Code: code, Timeout: time.Minute, LogLimit: 10 << 20,
			})
			if err != nil || failed != nil {
				t.Fatalf("Start: %v %+v", err, failed)
			}
			defer inst.Stop()
			for i := range 30 {
				big := i%10 == 5
				input := map[string]any{"i": i, "big": big}
				if i%7 == 3 { // a request over a page: written with a deadline, which the next run clears
					input["pad"] = strings.Repeat("p", 100<<10)
				}
				value, _ := json.Marshal(input)
				out, err := inst.Run(ctx, &actionloop.Request{Value: value, ActivationID: whisk.NewActivationID(), ActionName: "/guest/lines", ActionVersion: "0.0.1"})
				if err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				if out.Response.StatusCode != whisk.StatusSuccess || string(out.Response.Result) != fmt.Sprintf(`{"i":%d}`, i) {
					t.Fatalf("run %d: %+v %s", i, out.Response, out.Response.Result)
				}
				want := []string{
					fmt.Sprintf("stderr: no newline %d", i),
					fmt.Sprintf("stderr: raw err %d", i),
					fmt.Sprintf("stdout: raw out %d", i),
					fmt.Sprintf("stdout: run %d", i),
				}
				if big {
					want = append(want, "stdout: "+strings.Repeat("x", 300000))
				}
				got := untimed(out.Logs)
				if strings.Join(got, "\n") != strings.Join(sortedCopy(want), "\n") {
					short := make([]string, len(got))
					for j, l := range got {
						short[j] = l[:min(len(l), 60)]
					}
					t.Fatalf("run %d: logs %q, want its own %d lines", i, short, len(want))
				}
			}
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
