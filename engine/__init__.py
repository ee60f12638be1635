"""Model code: profiles, tiny offline models, the model runner and the in-process engine."""
