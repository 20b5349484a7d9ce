package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/store"
)

const usage = `usage: deploybot [command]

  serve              run the server (default); settings come from the environment and ./.env
  setup [--org ORG]  create deploybot's GitHub App from app.yml in a browser and write ./.env
  demo               show /deploy → success, → failure → Rollback against the built-in GitHub emulator
  validate [FILE]    check a .github/deploy.yml (default: ./.github/deploy.yml) and print its problems with line and column
  migrate            create or upgrade the database schema (serve does this too)
  version            print the version

`

// Main runs the CLI. lookup reads the environment (os.LookupEnv).
func Main(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			fmt.Fprint(stdout, usage+SettingsHelp)
			return nil
		}
		env, err := LoadDotenv(".", lookup)
		if err != nil {
			return err
		}
		s, err := SettingsFromEnv(env)
		if err != nil {
			return err
		}
		return Serve(ctx, s)
	case "setup":
		o := SetupOptions{Dir: ".", Lookup: lookup, Stdout: stdout}
		switch {
		case len(args) == 0:
		case len(args) == 2 && args[0] == "--org" && args[1] != "":
			o.Org = args[1]
		case len(args) == 1 && strings.HasPrefix(args[0], "--org=") && len(args[0]) > len("--org="):
			o.Org = strings.TrimPrefix(args[0], "--org=")
		default:
			return errors.New("usage: deploybot setup [--org <organization>]")
		}
		return Setup(ctx, o)
	case "demo":
		return Demo(ctx, stdout)
	case "validate":
		path := config.Path
		switch len(args) {
		case 0:
		case 1:
			path = args[0]
		default:
			return errors.New("usage: deploybot validate [path] (default " + config.Path + ")")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w (run validate from the repository root, or name the file)", path, err)
		}
		cfg, err := config.Parse(b)
		if err != nil {
			return fmt.Errorf("%s is invalid:\n%w", path, err)
		}
		fmt.Fprintf(stdout, "%s is valid: environments %v\n", path, cfg.EnvironmentNames())
		return nil
	case "migrate":
		url := "sqlite:deploybot.db"
		if v, ok := lookup("DATABASE_URL"); ok && v != "" {
			url = v
		}
		st, err := store.Open(ctx, url)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "database schema is up to date")
		return nil
	case "version":
		fmt.Fprintln(stdout, "deploybot", Version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage+SettingsHelp)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
