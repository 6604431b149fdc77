"""The domain core: Swedish calendar, Stockholm time, money and the rule vocabulary shared by rules and simulator."""
