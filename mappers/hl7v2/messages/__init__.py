"""One module per message structure; each maps a whole message to the resources it states."""
