// Package deploytest tests catsync's production deployment (deploy/): a
// test that the compose file, the Kubernetes manifests, the systemd units
// and the environment files parse and agree with each other and with
// docs/deploy.md, run by every go test; and, with CATSYNC_DEPLOY_TEST=1
// (make deploy-test), the deployment itself: the Temporal server on
// PostgreSQL with mutual TLS, the Web UI, the three workers as separate
// processes from their environment files, syncs, a worker killed in the
// middle of a FULL, and clients without a valid certificate refused.
package deploytest
