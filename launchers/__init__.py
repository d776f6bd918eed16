"""What the tests and the benchmarks start: servers on loopback (launchers.servers)."""
