package config

import _ "embed"

// JSONSchema is a JSON Schema (draft 2020-12) for .github/deploy.yml, for
// editors and for `deploybot validate`. Its $defs are named after the parser's
// shapes and a test keeps the accepted keys identical.
//
//go:embed schema.json
var JSONSchema []byte
