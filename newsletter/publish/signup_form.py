"""The signup form for the publication's own site (`newsletter form`): HTML to paste into any page,
posting to the web app's /subscribe with the fields it reads (email, name, the topics offered and
ticked, tags of [web] allowed_tags, the honeypot), in the newsletter's language.

With its script, the form is sent as JSON (CORS) and the answer shown in place; without, it is an
ordinary form post and the reader lands on the web app's own answer page. Either way the page's
origin must be in [web] allowed_origins: the app checks the Origin header of what it did not serve."""

from __future__ import annotations

import json
from html import escape

from ..i18n.catalogue import labels
from ..workspace.config import Config

# Posts the form as JSON and shows the app's answer beside it. The two %s are the words shown on
# success and on failure, as JavaScript strings (embed_form fills them; the script has no other %).
SCRIPT = """<script>
(function () {
  var DONE = %s, FAILED = %s;
  var form = document.getElementById("newsletter-signup"), answer = document.getElementById("newsletter-signup-answer");
  function say(text) { answer.textContent = text; answer.hidden = false; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form), body = {email: data.get("email"), name: data.get("name"), website: data.get("website"), tags: data.getAll("tags")};
    if (data.get("topics_offered")) { body.topics = data.getAll("topics"); }
    fetch(form.action, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
      .then(function (response) {
        return response.json().then(function (answered) {
          if (response.ok) { say(DONE.replace("{email}", body.email)); form.reset(); } else { say(answered.error || FAILED); }
        });
      })
      .catch(function () { say(FAILED); });
  });
})();
</script>"""


class UnknownTag(ValueError):
    """A tag the form was asked to set is not in [web] allowed_tags (the app would refuse it)."""


def embed_form(config: Config, tags: list[str], script: bool = True) -> str:
    """The HTML of the signup form for another site: `tags` are set on every signup made with it
    (each must be in [web] allowed_tags, else UnknownTag)."""
    allowed = config.web.allowed_tags
    unknown = [tag for tag in tags if tag not in allowed]
    if unknown:
        listed = ", ".join(allowed) or "none"
        raise UnknownTag(f"{', '.join(unknown)}: not in [web] allowed_tags of newsletter.toml (allowed: {listed}); the app would refuse the signup")
    words = labels(config.newsletter.language, config.labels)
    action = f"{config.base_url}/subscribe"
    lines = [
        f"<!-- The signup form of {escape(config.newsletter.name)}: it posts to {escape(action)}.",
        "     The origin of the page that holds it must be in [web] allowed_origins of newsletter.toml. -->",
        *([f"<!-- Tags it may set (add a hidden field named tags for each): {escape(', '.join(allowed))} -->"] if allowed and not tags else []),
        f'<form id="newsletter-signup" class="newsletter-signup" method="post" action="{escape(action)}">',
        f'<p><label for="newsletter-email">{escape(words["email_field"])}</label>',
        '<input id="newsletter-email" name="email" type="email" required autocomplete="email" maxlength="254"></p>',
        f'<p><label for="newsletter-name">{escape(words["name_field"])}</label>',
        '<input id="newsletter-name" name="name" type="text" autocomplete="name" maxlength="200"></p>',
        *_topic_fields(config, words["topics_legend"]),
        *(f'<input type="hidden" name="tags" value="{escape(tag)}">' for tag in dict.fromkeys(tags)),
        # The honeypot: only bots fill a field nobody sees (the app then stores nothing).
        '<p style="position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden" aria-hidden="true">'
        f'<label for="newsletter-website">{escape(words["honeypot"])}</label>'
        '<input id="newsletter-website" name="website" type="text" tabindex="-1" autocomplete="off"></p>',
        f'<p><button type="submit">{escape(words["subscribe_button"])}</button></p>',
        "</form>",
    ]
    if script:
        done = words["check_inbox"].replace("{name}", config.newsletter.name)
        lines += ['<p id="newsletter-signup-answer" role="status" hidden></p>', SCRIPT % (_js_string(done), _js_string(words["error"]))]
    return "\n".join(lines) + "\n"


def _topic_fields(config: Config, legend: str) -> list[str]:
    if not config.topics:
        return []
    fields = [f"<fieldset><legend>{escape(legend)}</legend>", '<input type="hidden" name="topics_offered" value="1">']
    for key, topic in config.topics.items():
        ticked = " checked" if topic.default else ""
        about = f"<br><small>{escape(topic.description)}</small>" if topic.description else ""
        fields.append(f'<p><label><input type="checkbox" name="topics" value="{escape(key)}"{ticked}> {escape(topic.name)}</label>{about}</p>')
    return [*fields, "</fieldset>"]


def _js_string(text: str) -> str:
    """`text` as a JavaScript string literal that cannot end the <script> it stands in."""
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
