// Package redis holds what Kefu keeps in Redis when it runs on more than one
// node: the event bus (Bus, pub/sub, implementing chat.Bus), shared presence
// (Presence, implementing chat.PresenceStore), the check of the settings Kefu
// relies on (Check) and the client's metrics (Instrument).
//
// The interfaces and the Event type belong to chat, which uses them; this
// package implements them and imports chat, never the other way round. It
// imports go-redis as goredis. cmd/kefu chooses it when KEFU_REDIS_URL is set;
// without Redis, chat's LocalBus and LocalPresence serve one node.
package redis
