"""What our texts say, in the restaurant's language: short (one SMS segment for a usual name), warm, with
the restaurant's name and the booking's date and time in its own zone.

Cyrillic texts are sent as UCS-2, 70 characters a segment, so the Ukrainian and Russian ones are terse.
A confirmation and a reminder end with the link to the guest's own page: an English one still fits one
segment for a usual name; a Cyrillic one takes two (67 characters each when joined) — a link needs the room.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

TEXTS = {
    "en": {
        "confirmation": "{name}: your table for {party} is booked for {date} at {time}. See you soon! Reply C "
                        "to confirm, X to cancel, or change it: {link}",
        "reminder": "{name}: a reminder of your table for {party} on {date} at {time}. Reply C to confirm, "
                    "X to cancel, or change it: {link}",
        "table_ready": "{name}: your table is ready! Please come to the host stand. Thank you for waiting.",
        "thank_you": "{name}: thank you for dining with us! We hope to see you again soon.",
        "reply_confirmed": "{name}: thank you, your table on {date} at {time} is confirmed. See you soon!",
        "reply_cancelled": "{name}: your booking on {date} at {time} is cancelled. We hope to see you another time.",
        "reply_already": "{name}: your table on {date} at {time} is already confirmed. See you soon!",
        "reply_help": "{name}: reply C to confirm your booking, X to cancel it, STOP to stop our texts.",
        "reply_nothing_to_answer": "{name}: we found no upcoming booking to confirm or cancel. Please call us.",
        "reply_not_done": "{name}: sorry, we could not do that just now. Please reply again in a minute.",
        "reply_stop": "{name}: you will get no more texts from us. Reply START to receive them again.",
        "reply_start": "{name}: welcome back, you will receive our texts again. Reply STOP to stop them.",
        # No name: on a shared sender it could be either restaurant's.
        "reply_ambiguous": "Your reply could mean more than one booking: which one? Please confirm or cancel it on "
                           "the link in our text about it, or call the restaurant.",
        # The recovery offer: the time the guest asked for first, then (when it differs) the one that opened.
        "recovery_offer": "{name}: we couldn't seat you on {date} at {time} - a table just opened. Reply YES "
                          "within {minutes} minutes and it's yours.",
        "recovery_offer_moved": "{name}: we couldn't seat you on {date} at {asked} - a table just opened at "
                                "{time}. Reply YES within {minutes} minutes and it's yours.",
        # A held-back table released to the book: true words, not "just opened" (it was there, kept back).
        "recovery_offer_released": "{name}: we couldn't seat you on {date} at {asked} - we have now released "
                                   "a table we were keeping back, at {time}. Reply YES within {minutes} minutes "
                                   "and it's yours.",
        "reply_offer_gone": "{name}: so sorry, the table we offered has just gone. We will text you if another "
                            "one opens.",
        "reply_offer_declined": "{name}: thank you for letting us know. We hope to see you another time.",
        "reply_offer_help": "{name}: reply YES to take the table we offered, or X to let it go.",
        # To the guests next in line once the table is taken, and our answer if they reply to that.
        "recovery_gone": "{name}: a table opened on {date} at {time} and has just gone to another guest - sorry. "
                         "You are still on our list: we will text you first if another frees.",
        "reply_gone_listed": "{name}: sorry, that table has gone. You are still on our list: we will text you "
                             "first if another one opens.",
    },
    "uk": {
        "confirmation": "{name}: столик на {party}, {date} о {time}. Чекаємо! C - так, X - скасувати. "
                        "Змінити: {link}",
        "reminder": "{name}: нагадуємо, {date} о {time}, столик на {party}. C - так, X - скасувати. Змінити: {link}",
        "table_ready": "{name}: ваш столик готовий! Підійдіть, будь ласка, до хостес.",
        "thank_you": "{name}: дякуємо, що завітали! Будемо раді бачити вас знову.",
        "reply_confirmed": "{name}: дякуємо, {date} о {time} підтверджено. Чекаємо!",
        "reply_cancelled": "{name}: бронювання {date} о {time} скасовано. До зустрічі!",
        "reply_already": "{name}: {date} о {time} вже підтверджено. Чекаємо!",
        "reply_help": "{name}: C - підтвердити, X - скасувати, STOP - без SMS",
        "reply_nothing_to_answer": "{name}: не знайшли бронювання. Зателефонуйте нам",
        "reply_not_done": "{name}: вибачте, не вдалося. Напишіть ще раз за хвилину",
        "reply_stop": "{name}: більше не надсилатимемо SMS. START - поновити",
        "reply_start": "{name}: SMS поновлено. STOP - вимкнути",
        "reply_ambiguous": "Ваша відповідь може стосуватися кількох бронювань: якого саме? Підтвердіть чи "
                           "скасуйте його за посиланням у нашому SMS про нього або зателефонуйте в ресторан",
        "recovery_offer": "{name}: {date} о {time} не було місць, а тепер столик звільнився! Напишіть ТАК за "
                          "{minutes} хв - і він ваш",
        "recovery_offer_moved": "{name}: {date} о {asked} не було місць, а о {time} столик звільнився! Напишіть "
                                "ТАК за {minutes} хв - і він ваш",
        "recovery_offer_released": "{name}: {date} о {asked} не було місць, а тепер ми відкрили притриманий "
                                   "столик на {time}! Напишіть ТАК за {minutes} хв - і він ваш",
        "reply_offer_gone": "{name}: на жаль, столик щойно зайняли. Напишемо, якщо звільниться інший",
        "reply_offer_declined": "{name}: дякуємо за відповідь. До зустрічі іншим разом!",
        "reply_offer_help": "{name}: ТАК - взяти столик, НІ - відмовитися",
        "recovery_gone": "{name}: {date} о {time} звільнився столик, але його щойно взяв інший гість. Вибачте! "
                         "Ви в нашому списку: напишемо першими, якщо звільниться ще",
        "reply_gone_listed": "{name}: вибачте, столик вже зайнято. Ви в списку: напишемо, щойно звільниться інший",
    },
    "ru": {
        "confirmation": "{name}: столик на {party}, {date} в {time}. Ждём вас! C - да, X - отмена. Изменить: {link}",
        "reminder": "{name}: напоминаем, {date} в {time}, столик на {party}. C - да, X - отмена. Изменить: {link}",
        "table_ready": "{name}: ваш столик готов! Подойдите, пожалуйста, к хостес.",
        "thank_you": "{name}: спасибо, что были у нас! Будем рады видеть вас снова.",
        "reply_confirmed": "{name}: спасибо, {date} в {time} подтверждено. Ждём вас!",
        "reply_cancelled": "{name}: бронь {date} в {time} отменена. До встречи!",
        "reply_already": "{name}: {date} в {time} уже подтверждено. Ждём вас!",
        "reply_help": "{name}: C - подтвердить, X - отменить, STOP - без SMS",
        "reply_nothing_to_answer": "{name}: не нашли бронь. Позвоните нам, пожалуйста",
        "reply_not_done": "{name}: извините, не получилось. Напишите ещё раз через минуту",
        "reply_stop": "{name}: больше не будем присылать SMS. START - возобновить",
        "reply_start": "{name}: SMS возобновлены. STOP - отключить",
        "reply_ambiguous": "Ваш ответ может относиться к нескольким броням: к какой? Подтвердите или отмените её "
                           "по ссылке в нашем SMS о ней или позвоните в ресторан",
        "recovery_offer": "{name}: {date} в {time} не было мест, а теперь столик освободился! Напишите ДА за "
                          "{minutes} мин - и он ваш",
        "recovery_offer_moved": "{name}: {date} в {asked} не было мест, а в {time} столик освободился! Напишите "
                                "ДА за {minutes} мин - и он ваш",
        "recovery_offer_released": "{name}: {date} в {asked} не было мест, а теперь мы открыли придержанный "
                                   "столик на {time}! Напишите ДА за {minutes} мин - и он ваш",
        "reply_offer_gone": "{name}: увы, столик только что заняли. Напишем, если освободится другой",
        "reply_offer_declined": "{name}: спасибо за ответ. До встречи в другой раз!",
        "reply_offer_help": "{name}: ДА - взять столик, НЕТ - отказаться",
        "recovery_gone": "{name}: {date} в {time} освободился столик, но его только что занял другой гость. "
                         "Извините! Вы в нашем списке: напишем первыми, если освободится ещё",
        "reply_gone_listed": "{name}: извините, столик уже занят. Вы в списке: напишем, как только освободится другой",
    },
}
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def sms_text(*, language: str, kind: str, restaurant_name: str, start_local: datetime | None = None,
             party_size: int | None = None, link: str = "", asked_local: datetime | None = None,
             minutes: int | None = None) -> str:
    """The text of a `kind` message; `start_local` is already in the restaurant's zone, `link` is the guest's
    own page (`guest_page_url`), which confirmations and reminders carry. A recovery offer also says when the
    guest asked for a table (`asked_local`) and how many `minutes` it is held for them."""
    texts = TEXTS.get(language, TEXTS["en"])
    date = time = ""
    if start_local is not None:
        date = (f"{start_local.day} {MONTHS_EN[start_local.month - 1]}" if language == "en"
                else f"{start_local:%d.%m}")
        time = f"{start_local:%H:%M}"
    asked = f"{asked_local:%H:%M}" if asked_local is not None else time
    return texts[kind].format(name=restaurant_name, party=party_size or "", date=date, time=time, link=link,
                              asked=asked, minutes=minutes or "")


def guest_page_url(token: str) -> str:
    """The guest's own page, short for an SMS: `PUBLIC_BASE_URL/b/<token>/`."""
    return f"{settings.PUBLIC_BASE_URL}/b/{token}/"
