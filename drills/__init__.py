"""beamdrill's exercise half: the command line, result files and (later) the drill runner."""
