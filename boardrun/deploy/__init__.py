"""Deployment artefacts generated from code (the routes table is their source of
truth): `python -m boardrun.deploy.gateway` writes the gateway's nginx.conf,
`python -m boardrun.deploy.services` the Knative Services. Tests regenerate both
and compare them with the files committed under infra/."""
