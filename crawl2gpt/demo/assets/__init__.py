"""Word lists, sentence templates and short phrases from which `crawl2gpt.demo.text` writes
the demo corpus."""
