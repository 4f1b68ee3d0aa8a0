"""An app's Events (Flow-Like's name for a board's triggers): an HTTP webhook sink, a cron
schedule or a CloudEvent filter, each starting a board at one of its nodes."""
