print("llmgw-mock: not wired yet")
