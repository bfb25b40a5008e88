"""Election integrity: elections as data, the election mode, labels, election signals and the war room."""
