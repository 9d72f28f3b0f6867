# Dates as the site writes them in Japanese; templates use |date and |date:"DATETIME_FORMAT"
# so each language gets its own order. Django's own ja format has no space before the time.
DATE_FORMAT = "Y年n月j日"
DATETIME_FORMAT = "Y年n月j日 G:i"
SHORT_DATETIME_FORMAT = "Y/m/d G:i"
