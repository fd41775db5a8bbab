"""Word lists, sentence templates and short phrases from which `pipeline.demo_text` writes the demo corpus."""
