"""Prints the mails an aiosmtpd Mailbox directory holds, decoded, as a JSON array of
{"to", "subject", "text", "html"} objects, oldest first. Used by the account tests; the order is the order of
arrival as far as file times tell (tests tell mails apart by their tokens).

    python tests/peers/mail_dump.py DIR
"""
import json
import mailbox
import os
import sys


def part(message, subtype):
    for sub in message.walk():
        if sub.get_content_type() == f"text/{subtype}":
            return sub.get_payload(decode=True).decode(sub.get_content_charset() or "utf-8")
    return None


box = mailbox.Maildir(sys.argv[1], create=False)
mails = []
for key in box.keys():
    message = box.get_message(key)
    mails.append(
        {
            "to": message["To"],
            "subject": str(message["Subject"]),
            "text": part(message, "plain"),
            "html": part(message, "html"),
            "at": os.stat(os.path.join(sys.argv[1], "new", key)).st_mtime_ns
            if os.path.exists(os.path.join(sys.argv[1], "new", key))
            else 0,
        }
    )
mails.sort(key=lambda m: m["at"])
for mail in mails:
    del mail["at"]
print(json.dumps(mails))
