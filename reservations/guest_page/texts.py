"""The guest page's words in the restaurant's language (uk, en, ru), as plain dictionaries like the SMS texts
(`services/sms_texts.py`): a page of a dozen lines needs no translation catalogue."""

from __future__ import annotations

from datetime import datetime

WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "uk": ["понеділок", "вівторок", "середа", "четвер", "п'ятниця", "субота", "неділя"],
    "ru": ["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"],
}
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    # The genitive, as a date is said: "15 грудня", "15 декабря".
    "uk": ["січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня",
           "листопада", "грудня"],
    "ru": ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
           "ноября", "декабря"],
}

TEXTS = {
    "en": {
        "title": "Your booking",
        "date": "Date", "time": "Time", "party": "Guests", "status": "Status",
        "status_booked": "Booked", "status_confirmed": "Confirmed", "status_arrived": "You are with us",
        "status_seated": "You are with us", "status_completed": "Visit completed", "status_cancelled": "Cancelled",
        "status_no_show": "Missed",
        "over": "This booking is over, so it can no longer be changed here.",
        "started": "Your booking time has come, so it can no longer be changed here. Please call the restaurant.",
        "confirm": "Confirm I'm coming", "cancel": "Cancel my booking",
        "change_title": "Change the time or number of guests", "change": "Change my booking",
        "new_date": "Date", "new_time": "Time",
        "done_confirm": "Thank you! Your booking is confirmed.",
        "done_cancel": "Your booking is cancelled. We hope to see you another time.",
        "done_change": "Done! Your booking is changed.",
        "refused": "Sorry, we have no table for {party} at {time} on {date}. Your booking stays as it was.",
        "alternatives": "These times are free:",
        "no_alternatives": "No other time is free that day. Try another day, or call the restaurant.",
        "too_large": "For a party this large, please call the restaurant. Your booking stays as it was.",
        "bad_time": "That time cannot be booked: choose a time during opening hours, on the restaurant's "
                    "booking grid, not in the past. Your booking stays as it was.",
        "bad_party": "Please give the number of guests as a whole number from 1 to 99.",
        "try_again": "We could not do that just now. Please try again in a moment, or call the restaurant.",
        "gone_title": "This link is no longer valid",
        "gone": "The booking has ended, or the link is not complete. Please check the link in your SMS.",
    },
    "uk": {
        "title": "Ваше бронювання",
        "date": "Дата", "time": "Час", "party": "Гостей", "status": "Статус",
        "status_booked": "Заброньовано", "status_confirmed": "Підтверджено", "status_arrived": "Ви у нас",
        "status_seated": "Ви у нас", "status_completed": "Візит завершено", "status_cancelled": "Скасовано",
        "status_no_show": "Пропущено",
        "over": "Це бронювання завершене, тож змінити його тут уже не можна.",
        "started": "Час вашого бронювання вже настав, тож змінити його тут не можна. Зателефонуйте до ресторану.",
        "confirm": "Підтверджую, прийду", "cancel": "Скасувати бронювання",
        "change_title": "Змінити час або кількість гостей", "change": "Змінити бронювання",
        "new_date": "Дата", "new_time": "Час",
        "done_confirm": "Дякуємо! Ваше бронювання підтверджено.",
        "done_cancel": "Бронювання скасовано. Будемо раді бачити вас іншим разом.",
        "done_change": "Готово! Бронювання змінено.",
        "refused": "На жаль, немає вільного столика на {party} о {time}, {date}. Ваше бронювання не змінилося.",
        "alternatives": "Вільний час:",
        "no_alternatives": "Іншого вільного часу цього дня немає. Оберіть інший день або зателефонуйте нам.",
        "too_large": "Для такої великої компанії, будь ласка, зателефонуйте до ресторану. Бронювання не змінилося.",
        "bad_time": "Цей час не можна забронювати: оберіть час у години роботи, за сіткою бронювань ресторану, "
                    "не в минулому. Ваше бронювання не змінилося.",
        "bad_party": "Вкажіть кількість гостей цілим числом від 1 до 99.",
        "try_again": "Зараз не вдалося. Спробуйте ще раз за хвилину або зателефонуйте до ресторану.",
        "gone_title": "Посилання більше не дійсне",
        "gone": "Бронювання завершилося або посилання неповне. Перевірте посилання в SMS.",
    },
    "ru": {
        "title": "Ваша бронь",
        "date": "Дата", "time": "Время", "party": "Гостей", "status": "Статус",
        "status_booked": "Забронировано", "status_confirmed": "Подтверждено", "status_arrived": "Вы у нас",
        "status_seated": "Вы у нас", "status_completed": "Визит завершён", "status_cancelled": "Отменено",
        "status_no_show": "Пропущено",
        "over": "Эта бронь завершена, поэтому изменить её здесь уже нельзя.",
        "started": "Время вашей брони уже наступило, поэтому изменить её здесь нельзя. Позвоните в ресторан.",
        "confirm": "Подтверждаю, приду", "cancel": "Отменить бронь",
        "change_title": "Изменить время или количество гостей", "change": "Изменить бронь",
        "new_date": "Дата", "new_time": "Время",
        "done_confirm": "Спасибо! Ваша бронь подтверждена.",
        "done_cancel": "Бронь отменена. Будем рады видеть вас в другой раз.",
        "done_change": "Готово! Бронь изменена.",
        "refused": "К сожалению, нет свободного столика на {party} в {time}, {date}. Ваша бронь не изменилась.",
        "alternatives": "Свободное время:",
        "no_alternatives": "Другого свободного времени в этот день нет. Выберите другой день или позвоните нам.",
        "too_large": "Для такой большой компании, пожалуйста, позвоните в ресторан. Бронь не изменилась.",
        "bad_time": "Это время нельзя забронировать: выберите время в часы работы, по сетке бронирования "
                    "ресторана, не в прошлом. Ваша бронь не изменилась.",
        "bad_party": "Укажите количество гостей целым числом от 1 до 99.",
        "try_again": "Сейчас не получилось. Попробуйте ещё раз через минуту или позвоните в ресторан.",
        "gone_title": "Ссылка больше не действительна",
        "gone": "Бронь завершилась или ссылка неполная. Проверьте ссылку в SMS.",
    },
}


def page_texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["en"])


def date_words(language: str, moment: datetime) -> str:
    """A date as it is said: "Tuesday 15 December", "вівторок, 15 грудня"."""
    language = language if language in MONTHS else "en"
    weekday = WEEKDAYS[language][moment.weekday()]
    month = MONTHS[language][moment.month - 1]
    if language == "en":
        return f"{weekday} {moment.day} {month}"
    return f"{weekday}, {moment.day} {month}"
