"""The store: browsing the apps their owners made public. No sign-in needed; private
apps are never visible here, not even as a 403."""
