"""The picture-book world: scene renderer, caption grammar and (for tests only) its oracle."""
