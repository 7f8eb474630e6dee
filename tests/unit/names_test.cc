// core/names: which names are refused, and which are the same name.
#include "core/names.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

TEST(NamesTest, CanonicalNameIsNfc) {
  EXPECT_EQ(*CanonicalName("jose\u0301"), "jos\u00e9");
  EXPECT_EQ(*CanonicalName("jos\u00e9"), "jos\u00e9");
  EXPECT_EQ(*CanonicalName("Ana Maria"), "Ana Maria");  // an inner ASCII space is fine
  EXPECT_EQ(*CanonicalName("\u0130stanbul"), "\u0130stanbul");
}

TEST(NamesTest, NameKeyFoldsCaseAndNormalization) {
  EXPECT_EQ(NameKey("Root"), NameKey("root"));
  EXPECT_EQ(NameKey(*CanonicalName("JOSE\u0301")), NameKey("jos\u00e9"));
  EXPECT_EQ(NameKey("STRASSE"), NameKey("stra\u00dfe"));  // full folding: ß is ss
  EXPECT_NE(NameKey("root"), NameKey("r00t"));
  EXPECT_EQ(NameKey("\uff52oot"), NameKey("root"));      // fullwidth, by NFKC
  EXPECT_EQ(NameKey("\U0001d42boot"), NameKey("root"));  // mathematical bold
  EXPECT_EQ(NameKey("\u017fam"), NameKey("SAM"));        // long s
  EXPECT_EQ(NameKey("\xff"), "\xff");                    // total, and no valid name has this key
}

TEST(NamesTest, InvisibleAndAmbiguousCharactersAreRefused) {
  for (const char* bad : {
           "admin\u200b",        // zero-width space (Cf)
           "ad\u200dmin",        // zero-width joiner
           "\u202eadmin",        // right-to-left override
           "admin\u00ad",        // soft hyphen
           "admin\u00a0",        // no-break space
           "admin\u2028",        // line separator
           "admin\u3164",        // Hangul filler (default ignorable, Lo)
           "admin\xef\xb8\x8f",  // variation selector 16
           "admin\xee\x80\x80",  // private use U+E000
           "admin\xcd\xb8",      // unassigned U+0378
           "admin\t",            // control
           " admin",
           "admin ",  // leading or trailing space
           "",
       }) {
    EXPECT_FALSE(CanonicalName(bad).ok()) << bad;
  }
}

TEST(NamesTest, ScriptsMixOnlyAsWritingSystemsDo) {
  EXPECT_FALSE(CanonicalName("b\u043ess").ok());                       // Cyrillic о among Latin
  EXPECT_FALSE(CanonicalName("\u03b1lpha").ok());                      // Greek α among Latin
  EXPECT_TRUE(CanonicalName("\u0430\u043d\u044f").ok());               // all Cyrillic
  EXPECT_TRUE(CanonicalName("tanaka-\u7530\u4e2d\u3055\u3093").ok());  // Latin, Han, kana
  EXPECT_TRUE(CanonicalName("kim-\ud55c\uad6d").ok());                 // Latin, Hangul
  EXPECT_TRUE(CanonicalName("ren\u00e9e-2").ok());  // digits and marks go with any
  EXPECT_FALSE(CanonicalName("root\u2800").ok());   // braille blank
  EXPECT_FALSE(CanonicalName("root\u20dd").ok());   // enclosing circle
}

TEST(NamesTest, MalformedUtf8IsRefused) {
  for (const char* bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x82"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
    EXPECT_EQ(CanonicalName(bad).status().message(), "not valid UTF-8");
  }
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));
}

}  // namespace
}  // namespace tessera
