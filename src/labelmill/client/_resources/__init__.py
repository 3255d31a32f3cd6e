"""One class per API resource; the ``Client`` holds one instance of each."""
