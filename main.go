// Command deploybot is a GitHub App that runs a team's deploy runbook.
//
//	deploybot [serve]          run the server (settings from the environment)
//	deploybot demo             run the whole flow against the built-in GitHub emulator
//	deploybot validate FILE    check a .github/deploy.yml
//	deploybot migrate          create or upgrade the database schema
//	deploybot version
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/deploybot/deploybot/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "deploybot:", err)
		os.Exit(1)
	}
}
