package deploy

import "github.com/deploybot/deploybot/internal/egress"

// testHTTP is the guarded client with loopback opted in, as the sandbox has it.
func testHTTP() egress.Doer { return egress.New(egress.Options{Allow: egress.Loopback()}) }
