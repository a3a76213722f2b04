"""An issue's local pictures (`image: {src: images/chip.jpg}`): `build` copies them beside the email,
the preview serves them, `publish` resizes them into the archive (upright, without metadata, at most
twice the width the email shows), and what sends uses their published address, or refuses."""

from __future__ import annotations

import email.policy
import io
import mailbox
import re
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

import newsletter.publish.images as publish_images
from newsletter.images.rendition import BUDGET_BYTES
from newsletter.issue.prepare import prepare_issue
from newsletter.preview.app import start_preview
from tests.helpers.cli import run
from tests.helpers.pictures import diagram, encoded, photo, save, use_image
from tests.helpers.publishing import PAGES, names, publish_workspace
from tests.helpers.workspace import SECRET, add_subscribers

ARCHIVE_URL = "https://fixture.example.org/archive"
PUBLISHED = re.compile(re.escape(ARCHIVE_URL) + r"/images/7/([a-z0-9_-]+-[0-9a-f]{12}\.(?:jpg|png|webp))")


def img_tag(html: str) -> str:
    found = re.search(r'<img class="nl-img"[^>]*>', html)
    assert found, "the story's <img> is missing"
    return found.group(0)


def attribute(tag: str, name: str) -> str:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    assert found, f"{name} missing in {tag}"
    return found.group(1)


def published_picture(workspace: Path) -> tuple[str, bytes]:
    page = (workspace / PAGES / "issue-7.html").read_text(encoding="utf-8")
    name = PUBLISHED.search(page)
    assert name, "the page does not show the picture at its address under the archive"
    return name.group(1), (workspace / PAGES / "images" / "7" / name.group(1)).read_bytes()


# --- build and preview: the workspace's own file ---------------------------------------------------


@pytest.mark.slow
def test_build_copies_the_picture_beside_the_email_with_its_real_proportions(workspace: Path, issue_path: Path) -> None:
    data = save(workspace, "images/chip.jpg", encoded(photo(1200, 800), "JPEG"))
    use_image(workspace, "images/chip.jpg", width=None)
    run("build", str(issue_path), ok=True)
    out = workspace / "build" / issue_path.stem
    assert (out / "images" / "chip.jpg").read_bytes() == data
    tag = img_tag((out / "email.html").read_text(encoding="utf-8"))
    assert attribute(tag, "src") == "images/chip.jpg"  # relative: email.html opens in a browser with it
    assert (attribute(tag, "width"), attribute(tag, "height")) == ("536", "357")  # the card's width, 3:2 as the file
    assert 'src="images/chip.jpg"' in (out / "web.html").read_text(encoding="utf-8")


def test_a_width_in_the_issue_keeps_the_files_proportions_whatever_height_it_says(workspace: Path, issue_path: Path) -> None:
    save(workspace, "images/tall.png", encoded(diagram(300, 600), "PNG"))
    use_image(workspace, "images/tall.png", width=200)
    issue_path.write_text(issue_path.read_text(encoding="utf-8").replace("          width: 200\n", "          width: 200\n          height: 50\n"), encoding="utf-8")
    tag = img_tag(prepare_issue(issue_path, images="local").email.html)
    assert (attribute(tag, "width"), attribute(tag, "height")) == ("200", "400")


def test_a_small_picture_is_never_stretched(workspace: Path, issue_path: Path) -> None:
    save(workspace, "images/small.png", encoded(diagram(120, 60), "PNG"))
    use_image(workspace, "images/small.png", width=None)
    tag = img_tag(prepare_issue(issue_path, images="local").email.html)
    assert (attribute(tag, "width"), attribute(tag, "height")) == ("120", "60")


def test_the_preview_serves_the_issues_pictures_and_nothing_else(workspace: Path, issue_path: Path) -> None:
    data = save(workspace, "images/my chip.jpg", encoded(photo(800, 600), "JPEG"))
    save(workspace, "images/other.jpg", encoded(photo(80, 60), "JPEG"))
    use_image(workspace, "images/my chip.jpg")
    preview = start_preview(issue_path)
    try:
        html = urllib.request.urlopen(preview.url + "email.html").read().decode()
        assert 'src="images/my%20chip.jpg"' in html
        with urllib.request.urlopen(preview.url + "images/my%20chip.jpg") as answer:
            assert answer.read() == data and answer.headers["Content-Type"] == "image/jpeg"
        for path in ("images/other.jpg", "newsletter.toml", "issues/2026-12-01.yaml", "images/../newsletter.toml"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(preview.url + path)
            assert refused.value.code == 404, path
    finally:
        preview.stop()


# --- publish: resized, upright, stripped, at its address under the archive --------------------------


def test_a_phone_photo_turned_by_exif_is_published_upright_and_without_its_metadata(workspace: Path, issue_path: Path) -> None:
    stored = Image.new("RGB", (1600, 800), "blue")
    stored.paste(Image.new("RGB", (800, 800), "red"), (0, 0))  # the stored left half is red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to show": the stored left edge is the top
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "PhoneOS 17.1"  # Software
    save(workspace, "images/phone.jpg", encoded(stored, "JPEG", exif=exif.tobytes(), quality=90))
    use_image(workspace, "images/phone.jpg", width=None, alt="A red and blue card")
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")

    publish_workspace(workspace)
    name, data = published_picture(workspace)
    assert name.startswith("phone-") and name.endswith(".jpg")
    with Image.open(io.BytesIO(data)) as out:
        assert out.format == "JPEG"
        assert out.size == (800, 1600)  # upright: tall; 800 px is under twice the 536 px it shows at
        assert not out.getexif() and "exif" not in out.info
        top, bottom = out.convert("RGB").getpixel((400, 100)), out.convert("RGB").getpixel((400, 1500))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60
    assert b"SecretCam" not in data and b"PhoneOS" not in data and b"Exif" not in data
    tag = img_tag((workspace / PAGES / "issue-7.html").read_text(encoding="utf-8"))
    assert (attribute(tag, "width"), attribute(tag, "height")) == ("536", "1072")


@pytest.mark.slow
def test_a_huge_png_is_published_at_twice_the_width_the_email_shows_and_stays_a_png(workspace: Path, issue_path: Path) -> None:
    save(workspace, "images/chart.png", encoded(diagram(4000, 2000), "PNG"))
    use_image(workspace, "images/chart.png", width=None, alt="A red box beside a blue circle")
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    publish_workspace(workspace)
    name, data = published_picture(workspace)
    with Image.open(io.BytesIO(data)) as out:
        assert (out.format, out.size) == ("PNG", (1072, 536))
    assert name.endswith(".png") and len(data) <= BUDGET_BYTES


@pytest.mark.slow
def test_a_png_photo_is_published_as_a_jpeg_when_that_is_far_smaller(workspace: Path, issue_path: Path) -> None:
    source = encoded(photo(1500, 1000), "PNG")
    save(workspace, "images/landscape.png", source)
    use_image(workspace, "images/landscape.png", width=None)
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    publish_workspace(workspace)
    name, data = published_picture(workspace)
    assert name.endswith(".jpg") and Image.open(io.BytesIO(data)).format == "JPEG"
    assert len(data) < len(source) / 10


def test_a_webp_stays_a_webp(workspace: Path, issue_path: Path) -> None:
    save(workspace, "images/pic.webp", encoded(photo(700, 400), "WEBP"))
    use_image(workspace, "images/pic.webp", width=300)
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    publish_workspace(workspace)
    name, data = published_picture(workspace)
    with Image.open(io.BytesIO(data)) as out:
        assert (out.format, out.size) == ("WEBP", (600, 343))  # twice the 300 px the email shows


@pytest.mark.slow
def test_publish_resizes_a_picture_once_and_only_again_when_it_changes(workspace: Path, issue_path: Path, monkeypatch) -> None:
    made: list[int] = []
    real = publish_images.make_rendition
    monkeypatch.setattr(publish_images, "make_rendition", lambda picture, width: made.append(width) or real(picture, width))
    save(workspace, "images/a.jpg", encoded(photo(1400, 900), "JPEG"))
    use_image(workspace, "images/a.jpg")
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")

    first = publish_workspace(workspace)
    assert made == [960] and any(name.startswith("archive/images/7/a-") for name in names(first))
    again = publish_workspace(workspace)
    assert made == [960] and again.written == []  # nothing resized, nothing written

    save(workspace, "images/a.jpg", encoded(photo(1400, 900, noise=40), "JPEG"))  # the editor swaps the photo
    old_name, _ = published_picture(workspace)
    changed = publish_workspace(workspace)
    new_name, _ = published_picture(workspace)
    assert made == [960, 960] and new_name != old_name
    assert (workspace / PAGES / "images" / "7" / old_name).is_file()  # a sent email still shows the old one
    assert {f"archive/images/7/{new_name}", "archive/issue-7.html"} <= names(changed)


@pytest.mark.slow
def test_the_archive_app_serves_published_pictures_only_by_their_names(workspace: Path, issue_path: Path, monkeypatch) -> None:
    from newsletter.web import create_app
    from newsletter.web.extensions import limiter

    save(workspace, "images/chip.jpg", encoded(photo(600, 400), "JPEG"))
    use_image(workspace, "images/chip.jpg")
    issue_path.write_text(issue_path.read_text(encoding="utf-8") + "publish: true\n", encoding="utf-8")
    publish_workspace(workspace)
    name, data = published_picture(workspace)
    (workspace / PAGES / "images" / "7" / ".secret.jpg").write_bytes(b"not for you")
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    app = create_app(workspace)
    limiter.reset()
    try:
        client = app.test_client()
        answer = client.get(f"/archive/images/7/{name}")
        assert answer.status_code == 200 and answer.data == data and answer.mimetype == "image/jpeg"
        assert "img-src 'self'" in client.get("/archive/issue-7.html").headers["Content-Security-Policy"]
        for path in ("/archive/images/7/.secret.jpg", "/archive/images/7/..%2f..%2fnewsletter.toml", "/archive/images/8/" + name, "/archive/images/7/"):
            assert client.get(path).status_code == 404, path
    finally:
        app.extensions["newsletter"].sender.stop()


# --- send: the published address, or a refusal --------------------------------------------------------


@pytest.mark.slow
def test_send_refuses_until_publish_has_made_the_picture_then_sends_its_address(in_workspace: Path, issue_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    save(in_workspace, "images/chip.jpg", encoded(photo(900, 600), "JPEG"))
    use_image(in_workspace, "images/chip.jpg")
    add_subscribers(in_workspace, 2)

    refused = run("send", str(issue_path))
    assert refused.exit_code == 1
    assert "images/chip.jpg is not published yet: run `newsletter publish` first" in refused.output
    assert not (in_workspace / "outbox").exists()
    assert [f.code for f in prepare_issue(issue_path).errors] == ["image-not-published"]

    run("publish", ok=True)  # not sent yet, so no page: the picture is there all the same
    assert not (in_workspace / PAGES / "issue-7.html").exists()
    run("send", str(issue_path), ok=True)
    box = mailbox.Maildir(in_workspace / "outbox", factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default), create=False)
    html = next(iter(box)).get_body(("html",)).get_content()
    src = attribute(img_tag(html), "src")
    assert PUBLISHED.fullmatch(src) and (in_workspace / PAGES / "images" / "7" / src.rsplit("/", 1)[1]).is_file()


# --- check -------------------------------------------------------------------------------------------------


def codes(issue_path: Path) -> dict[str, str]:
    return {finding.code: f"{finding.level}: {finding}" for finding in prepare_issue(issue_path, partial=True, images="local").findings if finding.code}


def test_check_names_a_missing_picture_by_file_and_line(workspace: Path, issue_path: Path) -> None:
    use_image(workspace, "images/gone.jpg")
    result = run("check", str(issue_path))
    assert result.exit_code == 1
    assert "2026-12-01.yaml:27: sections[0].stories[0].image.src: images/gone.jpg: no such file in the workspace" in result.output
    assert "image-missing" in codes(issue_path)


def test_check_refuses_a_source_over_its_cap_before_reading_it(workspace: Path, issue_path: Path) -> None:
    (workspace / "images").mkdir()
    with (workspace / "images" / "scan.jpg").open("wb") as out:
        out.truncate(25_000_000)  # sparse: nothing is read
    use_image(workspace, "images/scan.jpg")
    found = codes(issue_path)
    assert "image-unreadable" in found and "is 25.0 MB; local images are at most 20.0 MB" in found["image-unreadable"]


@pytest.mark.slow
def test_check_warns_of_a_picture_that_stays_over_its_budget(workspace: Path, issue_path: Path) -> None:
    grain = Image.effect_noise((1072, 1600), 128).convert("RGB")  # nothing compresses pure grain
    save(workspace, "images/grain.jpg", encoded(grain, "JPEG", quality=95))
    use_image(workspace, "images/grain.jpg", width=None)
    found = codes(issue_path)
    assert found["image-over-budget"].startswith("warning:") and "over the 300 KB budget" in found["image-over-budget"]


def test_check_warns_of_an_alt_text_that_is_the_file_name_and_refuses_a_missing_one(workspace: Path, issue_path: Path) -> None:
    save(workspace, "images/IMG_2041.jpg", encoded(photo(300, 200), "JPEG"))
    use_image(workspace, "images/IMG_2041.jpg", alt="IMG_2041.jpg")
    assert "image-alt-is-file-name" in codes(issue_path)
    use_image(workspace, "images/IMG_2041.jpg", alt="img_2041")
    assert "image-alt-is-file-name" in codes(issue_path)
    text = issue_path.read_text(encoding="utf-8").replace("          alt: img_2041\n", "")
    issue_path.write_text(text, encoding="utf-8")
    result = run("check", str(issue_path))
    assert result.exit_code == 1 and "image.alt: is required: an image needs alt text" in result.output
    assert "image-alt" in codes(issue_path)


def test_check_notes_where_publish_will_put_a_picture(workspace: Path, issue_path: Path) -> None:
    save(workspace, "images/chip.jpg", encoded(photo(300, 200), "JPEG"))
    use_image(workspace, "images/chip.jpg")
    found = codes(issue_path)
    assert found["image-not-published"].startswith("note:") and f"{ARCHIVE_URL}/images/7/chip-" in found["image-not-published"]
    result = run("check", str(issue_path))
    assert result.exit_code == 0, result.output
