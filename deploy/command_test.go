package deploy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		body    string
		want    Command
		wantErr string
	}{
		// /deploy
		{body: "/deploy", want: Command{Name: "deploy"}},
		{body: "/deploy staging", want: Command{Name: "deploy", Env: "staging"}},
		{body: "  /deploy prod v1.2.0 --dry-run\nthanks!", want: Command{Name: "deploy", Env: "prod", Ref: "v1.2.0", DryRun: true}},
		{body: "/deploy staging --strategy canary", want: Command{Name: "deploy", Env: "staging", Strategy: "canary"}},
		{body: "/deploy staging --strategy=rolling", want: Command{Name: "deploy", Env: "staging", Strategy: "rolling"}},
		{body: "/deploy staging,qa,production main", want: Command{Name: "deploy", Env: "staging", Then: []string{"qa", "production"}, Ref: "main"}},
		{body: "/deploy staging --force", wantErr: "unknown flag `--force`"},
		{body: "/deploy staging -f", wantErr: "unknown flag `-f`"},
		{body: "/deploy staging --strategy", wantErr: "needs a name"},
		{body: "/deploy staging --strategy --dry-run", wantErr: "needs a name"},
		{body: "/deploy staging --strategy yolo", wantErr: "unknown strategy"},
		{body: "/deploy staging --dry-run=yes", wantErr: "takes no value"},
		{body: "/deploy a b c", wantErr: "too many arguments: `/deploy [<env>[,<env>…]]"},
		{body: "/deploy staging $(rm${IFS}-rf)", wantErr: "not a valid ref"},
		{body: "/deploy staging ../../etc", wantErr: "not a valid ref"},
		{body: "/deploy staging,,qa", wantErr: "not a list of environments"},
		{body: "/deploy staging,", wantErr: "not a list of environments"},
		{body: "/deploy ,qa", wantErr: "not a list of environments"},
		{body: "/deploy staging,Staging", wantErr: "listed twice"},
		{body: "/deploy staging;reboot", wantErr: "not an environment name"},
		{body: "/deploy a,b,c,d,e,f,g,h,i,j,k", wantErr: "at most 10"},
		{body: "/deploy staging,qa --dry-run", wantErr: "`--dry-run` takes one environment"},
		// /deploy help
		{body: "/deploy help", want: Command{Name: "help"}},
		{body: "/deploy help --dry-run", wantErr: "takes no flags"},
		// /rollback
		{body: "/rollback", want: Command{Name: "rollback"}},
		{body: "/rollback production", want: Command{Name: "rollback", Env: "production"}},
		{body: "/rollback prod v1.2.0 --force", want: Command{Name: "rollback", Env: "prod", Ref: "v1.2.0", Force: true}},
		{body: "/rollback --force staging abc1234", want: Command{Name: "rollback", Env: "staging", Ref: "abc1234", Force: true}},
		{body: "/rollback staging abc extra", wantErr: "too many arguments: `/rollback"},
		{body: "/rollback staging --dry-run", wantErr: "unknown flag `--dry-run`: `/rollback"},
		{body: "/rollback staging --force=yes", wantErr: "unknown flag"},
		{body: "/rollback staging,qa", wantErr: "one environment at a time"},
		{body: "/rollback staging `whoami`", wantErr: "not a valid SHA or tag"},
		// /lock
		{body: "/lock staging", want: Command{Name: "lock", Env: "staging"}},
		{body: "/lock staging release freeze - see #12", want: Command{Name: "lock", Env: "staging", Reason: "release freeze - see #12"}},
		{body: "/lock staging release freeze --for 2h", want: Command{Name: "lock", Env: "staging", Reason: "release freeze", For: 2 * time.Hour}},
		{body: "/lock prod --for=3d hotfix only", want: Command{Name: "lock", Env: "prod", Reason: "hotfix only", For: 72 * time.Hour}},
		{body: "/lock staging <!--deploybot:deployment:1--> `rm` a|b", want: Command{Name: "lock", Env: "staging", Reason: "!--deploybot:deployment:1-- rm a b"}},
		{body: "/lock", wantErr: "name the environment to lock: `/lock <env>"},
		{body: "/lock --for 2h", wantErr: "name the environment"},
		{body: "/lock staging --for", wantErr: "`--for` needs a duration"},
		{body: "/lock staging --for soon", wantErr: "`--for soon` is not a duration"},
		{body: "/lock staging --for 5", wantErr: "is not a duration"},
		{body: "/lock staging --for 10s", wantErr: "between 1m and 90d"},
		{body: "/lock staging --for 100d", wantErr: "between 1m and 90d"},
		{body: "/lock staging --until 2h", wantErr: "unknown flag `--until`: `/lock <env>"},
		{body: "/lock staging,qa", wantErr: "not an environment name"},
		// /unlock
		{body: "/unlock staging", want: Command{Name: "unlock", Env: "staging"}},
		{body: "/unlock", wantErr: "name one environment: `/unlock <env>`"},
		{body: "/unlock staging qa", wantErr: "name one environment"},
		{body: "/unlock staging --force", wantErr: "unknown flag"},
		// /environments
		{body: "/environments", want: Command{Name: "environments"}},
		{body: "/environments\nplease", want: Command{Name: "environments"}},
		{body: "/environments staging", wantErr: "takes no arguments"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			got, err := ParseCommand(tc.body)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseCommand = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for _, body := range []string{"", "lgtm", "please /deploy staging", "/deployment staging", "thanks\n/deploy staging",
		"/Deploy staging", "> /rollback", "/locks staging", "`/deploy staging`"} {
		if _, err := ParseCommand(body); !errors.Is(err, ErrNotACommand) {
			t.Errorf("ParseCommand(%q) = %v, want ErrNotACommand", body, err)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 2 * time.Minute: "2m", time.Second: "1s"} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
