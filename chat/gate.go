package chat

import "time"

// Defaults of the per-tenant caps on simulations (Config).
const (
	DefaultSimulations   = 2
	DefaultSimulateWait  = 5 * time.Second
	DefaultReplayTimeout = 10 * time.Second
)
