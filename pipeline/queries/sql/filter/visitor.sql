AND ({device:String} = '' OR device = {device:String})
AND ({browser:String} = '' OR browser = {browser:String})
AND ({country:String} = '' OR country = {country_code:String})
