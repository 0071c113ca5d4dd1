print("llmgw: not wired yet")
