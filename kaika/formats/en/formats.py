# 24-hour times in English too: rounds open at 9:00 sharp, and "9 a.m." reads as vaguer.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, G:i"
SHORT_DATETIME_FORMAT = "Y-m-d G:i"
