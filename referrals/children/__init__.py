"""One child across agencies: matching, merges, the household, the chronology."""
