"""One adapter per ML library behind one interface (base.TrainerBackend)."""
