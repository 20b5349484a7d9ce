package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// DotenvFile is the file `deploybot setup` writes and `deploybot serve`
// reads from the working directory.
const DotenvFile = ".env"

// .env format: KEY=value lines; blank lines and lines starting with # are
// skipped; "export " before a key is allowed; a value may be
// double-quoted (\n, \", \\ and \t escapes; the private key is written so)
// or single-quoted (literal).

var dotenvKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseDotenv reads a .env file's content. A malformed line is an error
// naming the line (never its content: it may hold a secret).
func ParseDotenv(name string, b []byte) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, raw, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !dotenvKey.MatchString(key) {
			return nil, fmt.Errorf("%s line %d: want KEY=value", name, i+1)
		}
		val, err := dotenvValue(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("%s line %d (%s): %w", name, i+1, key, err)
		}
		out[key] = val
	}
	return out, nil
}

func dotenvValue(raw string) (string, error) {
	switch {
	case strings.HasPrefix(raw, `"`):
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == '"':
				if rest := strings.TrimSpace(raw[i+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
					return "", errors.New("text after the closing quote")
				}
				return b.String(), nil
			case c == '\\' && i+1 < len(raw):
				i++
				switch raw[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case '"', '\\':
					b.WriteByte(raw[i])
				default:
					return "", fmt.Errorf("unknown escape \\%c", raw[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("no closing double quote")
	case strings.HasPrefix(raw, "'"):
		end := strings.Index(raw[1:], "'")
		if end < 0 {
			return "", errors.New("no closing single quote")
		}
		if rest := strings.TrimSpace(raw[end+2:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return "", errors.New("text after the closing quote")
		}
		return raw[1 : end+1], nil
	}
	if v, _, ok := strings.Cut(raw, " #"); ok {
		raw = v
	}
	return strings.TrimSpace(raw), nil
}

// quoteDotenv double-quotes v with escapes, on one line.
func quoteDotenv(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\r", "")
	return `"` + r.Replace(v) + `"`
}

// LoadDotenv wraps lookup with the variables of the .env file in dir:
// the environment wins; a missing file changes nothing.
func LoadDotenv(dir string, lookup func(string) (string, bool)) (func(string) (string, bool), error) {
	path := filepath.Join(dir, DotenvFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return lookup, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	vars, err := ParseDotenv(path, b)
	if err != nil {
		return nil, err
	}
	return func(k string) (string, bool) {
		if v, ok := lookup(k); ok {
			return v, true
		}
		v, ok := vars[k]
		return v, ok
	}, nil
}

// writeDotenv sets vars in dir's .env, mode 0600: lines of other keys are
// kept, the file is replaced atomically.
func writeDotenv(dir string, vars map[string]string, order []string) (string, error) {
	path := filepath.Join(dir, DotenvFile)
	var kept bytes.Buffer
	if old, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(strings.TrimRight(string(old), "\n"), "\n") {
			key, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
			if _, replaced := vars[strings.TrimSpace(key)]; !replaced {
				kept.WriteString(line + "\n")
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	var b bytes.Buffer
	b.Write(kept.Bytes())
	b.WriteString("# written by deploybot setup\n")
	for _, k := range order {
		if v, ok := vars[k]; ok {
			fmt.Fprintf(&b, "%s=%s\n", k, quoteDotenv(v))
		}
	}
	for _, k := range sortedKeys(vars) {
		if !slices.Contains(order, k) {
			fmt.Fprintf(&b, "%s=%s\n", k, quoteDotenv(vars[k]))
		}
	}
	tmp, err := os.CreateTemp(dir, ".env.tmp*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
