"""Code the Rasa server loads (named in endpoints.yml, credentials.yml and babel.cfg): the NLG
that renders replies from the catalogs, the REST input channel, the tracker store's settings, and
the Babel extractor for the domain's responses."""
