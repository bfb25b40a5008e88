"""Scale-out ingest on Redis Streams: producers append, `townsquare worker` processes decide and store."""
