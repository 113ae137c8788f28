print("sbrt-bench: not yet")
