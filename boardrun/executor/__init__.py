"""The executor: runs one job's board and reports what happened.

Started once per job, as `python -m boardrun.executor` (a local subprocess or a
Kubernetes Job). It reads its job spec and board from storage, never the database.
Exit codes: 0 the job completed or was cancelled; 3 the board failed and that was
reported (Kubernetes' podFailurePolicy fails the Job without retrying); 4 the outcome
is stored but its report could not be sent (the backend's exit handling applies the
stored outcome at once); anything else is a crash, which the dispatcher's reconcile
turns into a failed job.
"""

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_REPORTED_FAILURE = 3
EXIT_UNREPORTED = 4
