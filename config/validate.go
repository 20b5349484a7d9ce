package config

import (
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// validate runs the checks that span environments: aliases, requires,
// cycles and default_environment.
func (d *decoder) validate(cfg *Config, top object, refs map[string]*envRefs) {
	names := cfg.EnvironmentNames()

	// owner maps a folded name or alias to its environment.
	owner := map[string]string{}
	for _, n := range names {
		owner[strings.ToLower(n)] = n
	}
	for _, n := range names {
		env, r := cfg.Environments[n], refs[n]
		kept := env.Aliases[:0]
		for i, a := range env.Aliases {
			path := index(join(join("environments", n), "aliases"), i)
			switch other, taken := owner[strings.ToLower(a)]; {
			case taken && other == n && strings.EqualFold(a, n):
				d.addf(r.aliases[i], path, "alias is the environment's own name")
			case taken && other == n:
				d.addf(r.aliases[i], path, "duplicate alias")
			case taken && cfg.Environments[other] != nil && strings.EqualFold(a, other):
				d.addf(r.aliases[i], path, "alias collides with environment %s", keyText(other))
			case taken:
				d.addf(r.aliases[i], path, "alias is already an alias of environment %s", keyText(other))
			default:
				owner[strings.ToLower(a)] = n
				kept = append(kept, a)
			}
		}
		env.Aliases = kept
	}

	// requires: resolve names and aliases to canonical names.
	for _, n := range names {
		env, r := cfg.Environments[n], refs[n]
		var resolved []string
		for i, q := range env.Requires {
			target, ok := owner[strings.ToLower(q)]
			switch {
			case !ok:
				d.addf(r.requires[i], index(join(join("environments", n), "requires"), i), "requires an unknown environment (known: %s)", knownNames(names))
			case target == n:
				d.addf(r.requires[i], index(join(join("environments", n), "requires"), i), "environment %s requires itself", keyText(n))
			default:
				resolved = append(resolved, target)
			}
		}
		env.Requires = dedupe(resolved)
		env.Gates.Order = append([]string(nil), env.Requires...)
	}
	d.findCycles(cfg, names, refs)

	if dn := top.get("default_environment"); dn != nil {
		if s, ok := d.scalar(dn, "default_environment"); ok {
			if target, ok := owner[strings.ToLower(s)]; ok {
				cfg.DefaultEnvironment = target
			} else {
				d.addf(dn, "default_environment", "default_environment is not an environment (known: %s)", knownNames(names))
			}
		}
	} else if len(names) == 1 {
		cfg.DefaultEnvironment = names[0]
	}
}

// findCycles reports each requires cycle once, at the requires of its
// alphabetically first environment.
func (d *decoder) findCycles(cfg *Config, names []string, refs map[string]*envRefs) {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	reported := map[string]bool{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		state[n] = active
		stack = append(stack, n)
		for _, m := range cfg.Environments[n].Requires {
			switch state[m] {
			case unvisited:
				visit(m)
			case active:
				var cycle []string
				for i := len(stack) - 1; i >= 0; i-- {
					cycle = append([]string{stack[i]}, cycle...)
					if stack[i] == m {
						break
					}
				}
				key := append([]string(nil), cycle...)
				sort.Strings(key)
				if reported[strings.Join(key, "\x00")] {
					continue
				}
				reported[strings.Join(key, "\x00")] = true
				first := key[0]
				// rotate so the cycle starts at first
				for cycle[0] != first {
					cycle = append(cycle[1:], cycle[0])
				}
				for i := range cycle {
					cycle[i] = keyPart(cycle[i])
				}
				d.addf(blame(refs[first]), join(join("environments", first), "requires"), "requires cycle: %s → %s", strings.Join(cycle, " → "), keyPart(first))
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range names {
		if state[n] == unvisited {
			visit(n)
		}
	}
}

func blame(r *envRefs) *yaml.Node {
	if r.reqNode != nil {
		return r.reqNode
	}
	return r.name
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
