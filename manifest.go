package main

import (
	_ "embed"

	"github.com/deploybot/deploybot/app"
)

// appManifest is the GitHub App manifest `deploybot setup` registers.
//
//go:embed app.yml
var appManifest []byte

func init() { app.Manifest = appManifest }
