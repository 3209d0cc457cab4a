// Package deploy holds what runs Kefu outside a developer's laptop: the
// Dockerfile, a docker-compose stack of two nodes on PostgreSQL and Redis,
// redis.conf, the Prometheus configuration and Kubernetes manifests. It has
// no Go code of its own; its tests check that those files agree with each
// other and with what the server needs.
package deploy
