"""Tools around the released AherNet code: its variable names and a checkpoint converter."""
