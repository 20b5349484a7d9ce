// Package egress is the one HTTP client for URLs that come from a
// repository's config (flag services, health checks, webhook executors,
// backup hooks). Whoever can write a repository's .github/deploy.yml picks
// those URLs, so the client refuses to reach deploybot's own network:
// loopback, private, link-local (cloud metadata), carrier-grade NAT,
// unique-local, multicast and reserved addresses, checked on the resolved
// IP at dial time — on every redirect hop, and against DNS rebinding, since
// the address checked is the address dialled. An operator opts hosts or
// CIDRs in (DEPLOYBOT_EGRESS_ALLOW). Redirects are capped, bodies are
// capped, every call carries its own timeout, and errors name the host,
// never the URL's query or user info.
package egress
