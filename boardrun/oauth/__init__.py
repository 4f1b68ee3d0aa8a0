"""Sign-in through OAuth 2.0 / OpenID Connect providers (any OIDC issuer, plus GitHub)."""
