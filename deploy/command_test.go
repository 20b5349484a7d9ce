package deploy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		body    string
		want    Command
		wantErr string
	}{
		{body: "/deploy", want: Command{Name: "deploy"}},
		{body: "/deploy staging", want: Command{Name: "deploy", Env: "staging"}},
		{body: "  /deploy prod v1.2.0 --dry-run\nthanks!", want: Command{Name: "deploy", Env: "prod", Ref: "v1.2.0", DryRun: true}},
		{body: "/deploy staging --strategy canary", want: Command{Name: "deploy", Env: "staging", Strategy: "canary"}},
		{body: "/deploy staging --strategy=rolling", want: Command{Name: "deploy", Env: "staging", Strategy: "rolling"}},
		{body: "/deploy help", want: Command{Name: "help"}},
		{body: "/deploy staging --force", wantErr: "unknown flag `--force`"},
		{body: "/deploy staging --strategy", wantErr: "needs a name"},
		{body: "/deploy staging --strategy yolo", wantErr: "unknown strategy"},
		{body: "/deploy a b c", wantErr: "too many arguments"},
		{body: "/deploy staging $(rm${IFS}-rf)", wantErr: "not a valid ref"},
		{body: "/deploy staging ../../etc", wantErr: "not a valid ref"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			got, err := ParseCommand(tc.body)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseCommand = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for _, body := range []string{"", "lgtm", "please /deploy staging", "/deployment staging", "/rollback"} {
		if _, err := ParseCommand(body); !errors.Is(err, ErrNotACommand) {
			t.Errorf("ParseCommand(%q) = %v, want ErrNotACommand", body, err)
		}
	}
}
