"""Jobs: submission, status, cancellation, the dispatcher's state machine and the
backends that run executors (a local subprocess, or a Kubernetes Job)."""
