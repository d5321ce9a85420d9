"""``python -m honeyhive_otel.devserver``: run the local HoneyHive API server."""

from honeyhive_otel.devserver import main

raise SystemExit(main())
