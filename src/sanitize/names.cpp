#include "pgsluice/sanitize/names.hpp"

#include <array>

namespace pgsluice::sanitize {

namespace {

// Common given names from many countries, so that sanitised data still looks like real data to
// the people testing with it. Short enough for any sensible name column.
constexpr std::array<std::string_view, 128> first_names{
    "Aaliyah", "Abdul",   "Ada",       "Adrian", "Agnes",  "Ahmed",   "Aiko",   "Alan",
    "Alba",    "Alice",   "Amara",     "Amir",   "Ana",    "Anders",  "Andrea", "Anja",
    "Ann",     "Antoine", "Arjun",     "Astrid", "Aylin",  "Beatriz", "Ben",    "Bianca",
    "Björn",   "Bo",      "Carla",     "Carlos", "Chen",   "Chiara",  "Chloé",  "Chris",
    "Dana",    "Daniel",  "Dario",     "David",  "Dmitri", "Elena",   "Eli",    "Emil",
    "Emma",    "Erik",    "Eva",       "Fatima", "Felix",  "Finn",    "Fiona",  "François",
    "Gabriel", "Grace",   "Hana",      "Hannah", "Hugo",   "Ines",    "Ingrid", "Isaac",
    "Ivan",    "Jack",    "Jamal",     "Jan",    "Javier", "Jia",     "Joan",   "Jonas",
    "José",    "Julia",   "Kai",       "Karim",  "Kenji",  "Kofi",    "Lara",   "Laura",
    "Lea",     "Leila",   "Leon",      "Lina",   "Liam",   "Lucas",   "Lucía",  "Maja",
    "Malik",   "Marco",   "Maria",     "Mateo",  "Maya",   "Mei",     "Mia",    "Mohammed",
    "Nadia",   "Nia",     "Nils",      "Noah",   "Noor",   "Olga",    "Oliver", "Omar",
    "Oscar",   "Paula",   "Pedro",     "Priya",  "Rafael", "Rahul",   "Rosa",   "Ruth",
    "Sam",     "Sara",    "Sean",      "Sofia",  "Søren",  "Tariq",   "Tessa",  "Theo",
    "Tomás",   "Uma",     "Valentina", "Vera",   "Victor", "Wei",     "Yara",   "Yusuf",
    "Zainab",  "Zoë",     "Łukasz",    "Ümit",   "Hamid",  "Ravi",    "Elif",   "Sven",
};

constexpr std::array<std::string_view, 128> last_names{
    "Abe",       "Adams",     "Ahmed",   "Alvarez",  "Andersen",  "Bailey",    "Baker",
    "Banerjee",  "Becker",    "Bianchi", "Brown",    "Byrne",     "Campbell",  "Castro",
    "Chen",      "Clarke",    "Costa",   "Cruz",     "Dąbrowski", "Davies",    "Diaz",
    "Dubois",    "Dupont",    "Edwards", "Eriksson", "Evans",     "Fernández", "Fischer",
    "Fontaine",  "Garcia",    "Gómez",   "Gonzalez", "Green",     "Hall",      "Hansen",
    "Harris",    "Hoffmann",  "Hughes",  "Ivanova",  "Jackson",   "Jansen",    "Jensen",
    "Johansson", "Jones",     "Kaur",    "Khan",     "Kim",       "King",      "Koch",
    "Kowalski",  "Kumar",     "Larsen",  "Laurent",  "Lee",       "Lewis",     "Li",
    "Lindqvist", "Lopez",     "Martin",  "Martínez", "Meyer",     "Mitchell",  "Moreau",
    "Morris",    "Müller",    "Murphy",  "Nakamura", "Nguyen",    "Nielsen",   "Novak",
    "Nowak",     "O'Brien",   "Okafor",  "Olsen",    "Ortiz",     "Patel",     "Perez",
    "Petrov",    "Phillips",  "Popescu", "Reddy",    "Reyes",     "Ricci",     "Roberts",
    "Robinson",  "Rodriguez", "Romano",  "Rossi",    "Russo",     "Sato",      "Schmidt",
    "Schneider", "Scott",     "Silva",   "Singh",    "Smith",     "Sousa",     "Suzuki",
    "Svensson",  "Tanaka",    "Taylor",  "Thomas",   "Thompson",  "Torres",    "Turner",
    "Van Dijk",  "Vasquez",   "Wagner",  "Walker",   "Wang",      "Watanabe",  "Weber",
    "White",     "Williams",  "Wilson",  "Wood",     "Wright",    "Wu",        "Yamamoto",
    "Yilmaz",    "Young",     "Zhang",   "Zhou",     "Öztürk",    "Åberg",     "Ferreira",
    "Haddad",    "Mensah",
};

}  // namespace

std::span<const std::string_view> firstNames() noexcept {
    return first_names;
}

std::span<const std::string_view> lastNames() noexcept {
    return last_names;
}

}  // namespace pgsluice::sanitize
